"""Real PostgreSQL and Redis servers for the suite (filled in by the servers work)."""
