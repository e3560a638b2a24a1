"""The web application's handlers, one module per area of work: each holds its `ROUTES`
and a mixin class of handlers that `agents.app.WebApp` is built from."""
