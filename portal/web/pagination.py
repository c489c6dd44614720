"""Lists a page at a time: by page number (Page) or by the key of a neighbour (KeysetPage)."""
from flask import g, request


class Page:
    """One page of a query by page number: items and whether there are neighbours.

    Fetches LIMIT n+1 to learn whether a next page exists without a COUNT. For
    long lists that grow, use KeysetPage, which stays fast deep down.
    """

    def __init__(self, query, page=None, per_page=None, arg="page"):
        """``query``: a peewee query, or ``fetch(limit, offset) -> rows`` (a prepared query);
        ``arg``: the query argument with the page number (two lists on one page need two)."""
        self.per_page = per_page or g.device.page_size
        self.arg = arg
        self.number = page if page is not None else _page_arg(arg)
        if callable(query):
            rows = list(query(self.per_page + 1, (self.number - 1) * self.per_page))
        else:
            # One row more than a page tells whether a next page exists (peewee's paginate()
            # would also start each page one row further per page: rows lost between pages).
            rows = list(query.limit(self.per_page + 1).offset((self.number - 1) * self.per_page))
        self.has_next = len(rows) > self.per_page
        self.items = rows[: self.per_page]
        self.has_prev = self.number > 1

    @property
    def next_args(self):
        return {self.arg: self.number + 1}

    @property
    def prev_args(self):
        return {self.arg: self.number - 1}


class KeysetPage:
    """One page of a list ordered by ``key`` (newest first), addressed by the key of the
    neighbouring item (``?before=id`` / ``?after=id``): the cost does not grow with depth."""

    def __init__(self, query, key, per_page=None):
        self.per_page = per_page = per_page or g.device.page_size
        before, after = _int_arg("before"), _int_arg("after")
        if after and not before:
            rows = list(query.where(key > after).order_by(key.asc()).limit(per_page + 1))
            self.has_prev = len(rows) > per_page
            self.items = rows[:per_page][::-1]
            self.has_next = True
        else:
            if before:
                query = query.where(key < before)
            rows = list(query.order_by(key.desc()).limit(per_page + 1))
            self.has_next = len(rows) > per_page
            self.items = rows[:per_page]
            self.has_prev = bool(before)
        self.has_prev = self.has_prev and bool(self.items)
        self.has_next = self.has_next and bool(self.items)
        self._key = key.name

    @property
    def next_args(self):
        return {"before": getattr(self.items[-1], self._key), "after": None, "page": None}

    @property
    def prev_args(self):
        return {"after": getattr(self.items[0], self._key), "before": None, "page": None}


def part_arg():
    """The ``part`` query argument of a text split into parts (1 when missing or bad)."""
    return max(1, _int_arg("part"))


def _int_arg(name):
    """A non-negative int query argument, 0 when missing or bad."""
    value = request.args.get(name, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 16 else 0  # not "②"


def _page_arg(name="page"):
    """The ``page`` (or ``name``) query argument as a positive int (1 when missing or bad)."""
    value = request.args.get(name, "1")
    if not (value.isascii() and value.isdigit()) or len(value) > 15:  # "²" is a digit int() refuses
        return 1
    return max(1, min(int(value), 10**6))
