"""The URL users, git remotes and the CLI reach the control plane at."""


def public_url(*, api_url: str, api_host: str, https_port: int, http_port: int) -> str:
    """``https://<api_host>[:port]`` behind the router (plain HTTP when it serves no HTTPS),
    else ``api_url``: the control plane's own port, for local use."""
    if not api_host:
        return api_url
    scheme, port, default = ("https", https_port, 443) if https_port else ("http", http_port, 80)
    return f"{scheme}://{api_host}" + ("" if port == default else f":{port}")
