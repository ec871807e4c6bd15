"""What several apps share and no app owns: refusing bad request parameters in plain words
(``params``), paginating tables from the query string (``pagination``), turning local times
into UTC instants the portal can store and the timezone names it knows (``moments``), form
fields that check before they query (``fields``), what every form shares: Bootstrap widgets,
date pickers, the change reason, a service's errors put back on the form (``forms``), the
``Conflict`` a stale or overtaken action raises (``errors``), streamed formula-safe CSV
(``csvexport``) and the 400 page (``views``). Templates every app includes are in
``templates/includes/``.

It imports no app of the portal (DESIGN.md: dependencies point one way), so any app may use it.
"""
