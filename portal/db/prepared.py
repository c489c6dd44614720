"""Prepared queries: SQL built by peewee once per shape, bound to each call's values."""
import datetime

from peewee import Model

from . import database

_PREPARED = {}  # (key, database class) -> (query, sql, slots) of prepared()
_STAND_IN_BASE = -7_100_000_000


def _stand_in(n, value):
    """A stand-in for a parameter of type ``type(value)``, unlike any value a page carries
    (and unlike anything computed from one: ``_derived_from_stand_in``); for a row (a viewer,
    an owner) a row of the same model whose id is a stand-in."""
    if isinstance(value, bool):
        raise TypeError("a flag changes the query's shape: put it in the key")
    if isinstance(value, int):
        return _STAND_IN_BASE - n
    if isinstance(value, Model):
        return value.__class__(id=_STAND_IN_BASE - n)  # __class__: current_user is a proxy
    if isinstance(value, datetime.datetime):
        return datetime.datetime(1901, 2, 3, 4, 5, n % 60, 123457)
    if isinstance(value, str):
        return f"\x00stand-in {n}\x00"
    raise TypeError(f"no stand-in for {type(value).__name__}")


def _bound(value):
    """What a value puts into the SQL (a row: its id)."""
    return value.id if isinstance(value, Model) else value


def _signature(values):
    return tuple(sorted((name, value.__class__) for name, value in values.items()))


def _derived_from_stand_in(param, stand_ins):
    """A parameter computed from a stand-in (``uid + 1``, ``seen - a day``): it would be frozen."""
    if isinstance(param, bool):
        return False
    if isinstance(param, int):
        return abs(param - _STAND_IN_BASE) < 1_000_000
    if isinstance(param, datetime.datetime):
        return param.year == 1901
    if isinstance(param, str):
        return "\x00stand-in" in param
    return False


def _prepare(key, build, values, origin=None):
    # The build function (``origin``: the caller's, under a wrapper) is part of the key: two
    # call sites that chose the same name never share SQL.
    cache_key = (key, (origin or build).__code__, type(database.obj))
    entry = _PREPARED.get(cache_key)
    if entry is None:
        names = sorted(values)
        stand_ins = {name: _stand_in(n, values[name]) for n, name in enumerate(names)}
        query = build(**stand_ins)
        sql, params = query.sql()
        by_value = {(type(_bound(v)), _bound(v)): name for name, v in stand_ins.items()}
        slots = [by_value.get((type(p), p)) for p in params]
        missing = set(names) - set(slots)
        if missing:
            raise ValueError(f"prepared query {key!r} does not use {sorted(missing)}")
        derived = [p for name, p in zip(slots, params, strict=True) if name is None and _derived_from_stand_in(p, stand_ins)]
        if derived:
            raise ValueError(f"prepared query {key!r} computes parameters from its values: {derived!r}; "
                             "pass them as values of their own")
        entry = _PREPARED[cache_key] = (query, sql, list(zip(slots, params, strict=True)), _signature(values))
    query, sql, slots, signature = entry
    if _signature(values) != signature:  # a None, a flag, a missing or extra value: another shape
        raise TypeError(f"prepared query {key!r} was built for {signature}, called with {_signature(values)}")
    return query, sql, [_bound(values[name]) if name is not None else p for name, p in slots]


def prepared(key, build, **values):
    """The rows (models, as the query would give) of ``build(**values)``, whose SQL peewee builds
    only once per ``key`` and database kind: later calls bind ``values`` to that SQL.

    For the queries every page runs (home's feed, notices): building SQL from peewee's
    expressions costs more than running it (about 0.3-0.6 ms a query here). ``build`` gets
    stand-ins of the values' types (int, str, datetime, a model row such as the viewer, whose
    id is what goes into the SQL) and must not branch on them; whatever
    changes the query's shape (a None, a flag, a LIMIT) belongs in ``key``. A value must go
    into the SQL as given (not ``value + 1``: pass that as a value of its own), and every call
    must give the same names and types (both are checked)."""
    return _prepared(key, build, values)


def _prepared(key, build, values, origin=None):
    query, sql, params = _prepare(key, build, values, origin)
    return query._get_cursor_wrapper(database.execute_sql(sql, params))


def prepared_first(key, build, **values):
    """The first row of ``build(**values)`` (built with LIMIT 1), or None (see ``prepared``)."""
    return next(iter(_prepared(("first", key), lambda **stand_ins: build(**stand_ins).limit(1), values,
                               origin=build)), None)


def prepared_count(key, build, **values):
    """COUNT(*) of the rows of ``build(**values)``, its SQL built once (see ``prepared``)."""
    from peewee import SQL, Select, fn

    def count(**stand_ins):
        inner = build(**stand_ins).order_by().alias("_wrapped")
        return Select([inner], [fn.COUNT(SQL("1"))]).bind(database)
    _query, sql, params = _prepare(("count", key), count, values, origin=build)
    return database.execute_sql(sql, params).fetchone()[0]
