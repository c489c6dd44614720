"""Routes read from the URL map, so every new route is covered by the tests that use them."""
from werkzeug.routing import AnyConverter, IntegerConverter


def sample_value(converter, name, login_id):
    if isinstance(converter, IntegerConverter):
        return 1
    if isinstance(converter, AnyConverter):
        return sorted(converter.items)[0]
    if name == "login_id":
        return login_id
    return "x"


def sample_url(app, rule, login_id="alice"):
    """A concrete URL for ``rule`` with sample arguments."""
    values = {name: sample_value(conv, name, login_id) for name, conv in rule._converters.items()}
    with app.test_request_context():
        return app.url_map.bind("localhost").build(rule.endpoint, values, method=None)


def rules(app, method, prefix=""):
    """Rules that accept ``method`` (and start with ``prefix``), static excluded."""
    return [r for r in app.url_map.iter_rules()
            if method in r.methods and r.endpoint != "static" and r.rule.startswith(prefix)]
