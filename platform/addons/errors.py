class ProviderError(Exception):
    """An engine, a server or a service refused: the message says what happened."""
