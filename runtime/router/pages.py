"""The pages a router answers with itself, whichever router it is."""

PAGE = (
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>"
    "<body><h1>{title}</h1><p>{text}</p></body></html>\n"
)
NO_SUCH_APP = PAGE.format(title="No such app", text="There is no app at this address.")


def no_web(app: str) -> str:
    """The 503 page of an app with no running web process (none deployed, or scaled to 0)."""
    return PAGE.format(
        title="No web processes running",
        text=f"{app} has no running web processes: deploy with <code>git push</code> or "
        "scale with <code>pier ps:scale web=1</code>.",
    )


MAINTENANCE = PAGE.format(
    title="Offline for maintenance",
    text="This app is undergoing maintenance right now. Please check back soon.",
)
APP_ERROR = PAGE.format(
    title="Application error",
    text="The app did not answer. If you run it, check its logs with <code>pier logs</code>.",
)
