"""The console: server-rendered pages for people, signed in by session, reading through the API's own
queries (``pages``: what every page shares; a module a page; ``routes``: where each is served)."""
