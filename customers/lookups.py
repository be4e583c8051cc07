"""`ilike`: a case-insensitive LIKE that PostgreSQL's trigram GIN indexes can serve.

Django's `icontains` wraps the column in UPPER(col::text), which a plain column
index cannot use. SQLite's LIKE is already case-insensitive for ASCII.
"""

from django.db.models import CharField, Lookup, TextField


class ILike(Lookup):
    lookup_name = "ilike"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", lhs_params + rhs_params

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} ILIKE {rhs}", lhs_params + rhs_params


def like_contains(text: str) -> str:
    """A %text% pattern with LIKE's wildcards in `text` escaped."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


CharField.register_lookup(ILike)
TextField.register_lookup(ILike)
