"""Settings for the gunicorn that ``bench/lists.py`` measures: production's own settings (every
value from the environment, as the Procfile runs them) plus two bench-only things, both in
``bench/lists_server.py``: a middleware answering each request's query count and CPU time in
headers, and Django admin changelists of the models the portal's admin does not register (so
each portal list has an admin changelist of the same rows beside it). Never used by the app."""

from escalportal.settings import *  # noqa: F403
from escalportal.settings import MIDDLEWARE

# Outermost, so the figures cover every other middleware, the view and the template.
MIDDLEWARE = ["bench.lists_server.BenchHeadersMiddleware", *MIDDLEWARE]
ROOT_URLCONF = "bench.lists_server"
# A signed-in session records its activity at most once a minute (one UPDATE of the session
# row in the request that does it): over a run that made one request in thirty cost a query
# more, which is the session's clock, not the page. Once a day here, so each page's count is
# its own.
SESSION_ACTIVITY_RESOLUTION = 24 * 3600
