"""Shared helpers of the language-model tests."""

# Endpoint URLs the outbound check refuses, each with (part of) the reason it gives.
REFUSED_URLS = [
    ("http://169.254.169.254/latest", "169.254.169.254 is link-local"),
    ("http://10.0.0.1", "10.0.0.1 is private"),
    ("http://192.168.1.1", "192.168.1.1 is private"),
    ("http://[::1]/", "::1 is loopback"),
    ("http://0.0.0.0", "0.0.0.0 is unspecified"),
    ("http://[::ffff:127.0.0.1]/", "is loopback"),
    ("http://224.0.0.1/", "is multicast"),
    ("file:///etc/passwd", "scheme 'file' is not allowed"),
    ("gopher://127.0.0.1:6379/", "scheme 'gopher' is not allowed"),
    ("javascript:alert(1)", "scheme 'javascript' is not allowed"),
    ("not a url", "(no scheme)"),
    ("http://localhost", "localhost (127.0.0.1) is loopback"),
    ("http://user:pw@api.example.test/v1", "user name or password"),
    ("http://", "has no host"),
]
