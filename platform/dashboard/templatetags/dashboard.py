"""Small formatting helpers for the dashboard's templates."""

from django import template
from django.template.base import render_value_in_context, token_kwargs
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince
from django.utils.timezone import template_localtime

register = template.Library()


@register.filter
def duration(build) -> str:
    """Return how long a build took (or has been running), like `1m 05s`."""
    if build.started_at is None:
        return "—"
    if build.finished_at is None:
        return "running"
    seconds = max(0, int((build.finished_at - build.started_at).total_seconds()))
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


@register.filter
def short_id(value) -> str:
    return str(value)[:8]


@register.filter
def on_nodes(dynos) -> bool:
    """Whether the processes run on several machines (the Swarm backend says where)."""
    return any(dyno.get("node") for dyno in dynos)


@register.filter
def status_class(status: str) -> str:
    """Return the CSS modifier for a status badge."""
    return {
        "succeeded": "ok",
        "running": "ok",
        "deployed": "ok",
        "up": "ok",
        "failed": "bad",
        "crashed": "bad",
        "maintenance": "warn",
        "pending": "warn",
        "building": "warn",
        "ready": "ok",  # a node's state and availability
        "active": "ok",
        "down": "bad",
        "drain": "warn",
    }.get(str(status), "neutral")


@register.simple_tag(takes_context=True)
def ago(context, moment, never=""):
    """Return `moment` as "3 hours ago" with the exact time on hover, or `never` without one."""
    if not moment:
        return never
    return format_html(
        '<time datetime="{}" title="{}">{} ago</time>',
        template_localtime(moment, context.use_tz).isoformat(),
        render_value_in_context(moment, context),
        timesince(moment),
    )


TABLE_OPTIONS = {"class", "id", "caption", "labelledby", "actions"}
ACTIONS_HEADER = mark_safe('<th scope="col"><span class="visually-hidden">Actions</span></th>')


@register.tag
def table(parser, token):
    """Wrap rows in the dashboard's table, with a header cell for each argument.

    `{% table "Name" "Value" class="config" id="vars" caption="..." labelledby="..." actions=True %}
    rows {% endtable %}`: an argument that is "" has no column (a conditional one, like
    `dynos|on_nodes|yesno:"Node,"`); `actions` adds a last column headed for screen readers only.
    """
    headers, options = [], {}
    bits = token.split_contents()[1:]
    while bits:
        option = token_kwargs(bits, parser, support_legacy=False)
        if not option:
            headers.append(parser.compile_filter(bits.pop(0)))
        elif not option.keys() <= TABLE_OPTIONS:
            raise template.TemplateSyntaxError(
                f"table takes the options {sorted(TABLE_OPTIONS)}, not {list(option)}"
            )
        options.update(option)
    rows = parser.parse(("endtable",))
    parser.delete_first_token()
    return TableNode(headers, options, rows)


class TableNode(template.Node):
    def __init__(self, headers, options, rows):
        self.headers, self.options, self.rows = headers, options, rows

    def render(self, context):
        options = {name: value.resolve(context) for name, value in self.options.items()}
        labels = [header.resolve(context) for header in self.headers]
        head = format_html_join("", '<th scope="col">{}</th>', zip(filter(None, labels)))
        if options.get("actions"):
            head += ACTIONS_HEADER
        caption = options.get("caption") or ""
        if caption:
            caption = format_html('<caption class="visually-hidden">{}</caption>\n', caption)
        attributes = {
            "class": " ".join(filter(None, ["table", options.get("class")])),
            "id": options.get("id"),
            "aria-labelledby": options.get("labelledby"),
        }
        attributes = format_html_join(
            "", ' {}="{}"', ((name, value) for name, value in attributes.items() if value)
        )
        return format_html(
            '<div class="table-wrap">\n<table{}>\n{}<thead><tr>{}</tr></thead>\n'
            "<tbody>{}</tbody>\n</table>\n</div>",
            attributes,
            caption,
            head,
            self.rows.render(context),
        )
