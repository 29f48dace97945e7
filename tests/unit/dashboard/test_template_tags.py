from datetime import timedelta

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.utils import timezone


def render(source: str, **context) -> str:
    return Template("{% load dashboard %}" + source).render(Context(context))


def test_table_wraps_rows_in_the_dashboard_table():
    html = render('{% table "Name" "Value" %}<tr><td>x</td></tr>{% endtable %}')
    assert html == (
        '<div class="table-wrap">\n<table class="table">\n'
        '<thead><tr><th scope="col">Name</th><th scope="col">Value</th></tr></thead>\n'
        "<tbody><tr><td>x</td></tr></tbody>\n</table>\n</div>"
    )


def test_table_leaves_out_an_empty_header_and_escapes_variables():
    html = render('{% table first "" "Last" %}{% endtable %}', first="A & B")
    assert '<tr><th scope="col">A &amp; B</th><th scope="col">Last</th></tr>' in html


def test_table_options():
    html = render(
        '{% table "Backup" actions=True class="compact" id="backups" caption="Backups"'
        ' labelledby="h-"|add:name %}{% endtable %}',
        name="db",
    )
    assert '<table class="table compact" id="backups" aria-labelledby="h-db">' in html
    assert '<caption class="visually-hidden">Backups</caption>' in html
    actions = '<th scope="col"><span class="visually-hidden">Actions</span></th>'
    assert '<th scope="col">Backup</th>' + actions + "</tr>" in html


def test_table_refuses_an_unknown_option():
    with pytest.raises(TemplateSyntaxError, match="not \\['style'\\]"):
        render('{% table "Name" style="x" %}{% endtable %}')


def test_ago_shows_the_time_since_with_the_exact_time():
    moment = timezone.now() - timedelta(hours=3)
    html = render("{% ago moment %}", moment=moment)
    assert html.startswith(f'<time datetime="{moment.isoformat()}" title="')
    assert html.endswith(">3\xa0hours ago</time>")


@pytest.mark.parametrize("moment", [None, ""])
def test_ago_without_a_time_says_the_fallback(moment):
    assert render('{% ago moment "never" %}', moment=moment) == "never"
    assert render("{% ago moment fallback %}", moment=moment, fallback="<i>") == "&lt;i&gt;"
    assert render("{% ago moment %}", moment=moment) == ""
