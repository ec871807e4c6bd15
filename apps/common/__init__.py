"""What several apps share and no app owns: refusing bad request parameters in plain words
(``params``), paginating tables from the query string (``pagination``), turning local times
into UTC instants the portal can store (``moments``), form fields that check before they
query (``fields``) and the 400 page (``views``).

It imports no app of the portal (DESIGN.md: dependencies point one way), so any app may use it.
"""
