"""moto's server for the benchmark's large tables: the same answers, without two sorts.

moto answers every Query by listing the whole table sorted by key (`Table.all_items`),
comparing `DynamoType` objects pairwise, then sorts the matches again. At 100,000 items
that is seconds of Python per query, so the scale section would measure moto's sort,
not Latchkey. This launcher changes these things and nothing else:

- inside `Table.query` the table listing is not sorted: the matches are sorted right
  after (by the index keys and the table keys, a total order), so the answer is the same;
- every sort uses the keys' plain values (`cast_value`, what `DynamoType.__lt__`
  compares) as its sort key, computed once per item instead of once per comparison;
- the list of moto's service modules, which the dispatcher reads from the file system
  for every request under one lock, is read once.

The tests use stock moto; `bench/run` starts this one. Usage: python moto_server.py ARGS
(the arguments of `moto_server`).
"""

import threading

from moto import backends
from moto.dynamodb.models.table import Table
from moto.server import main

_in_query = threading.local()


def _key(value):
    return None if value is None else value.cast_value


def all_items(self):
    # `list(dict.values())` copies in one step under the GIL: other threads write to the
    # table while a query lists it.
    items = [
        item
        for hash_set in list(self.items.values())
        for item in (list(hash_set.values()) if self.range_key_attr else [hash_set])
    ]
    if getattr(_in_query, "active", False):
        return items
    return sorted(items, key=lambda x: (_key(x.hash_key), _key(x.range_key)))


def sorted_items(self, hash_key_attrs, range_key_attrs, items):
    attrs = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
    items.sort(key=lambda x: tuple(x.attrs[a].cast_value for a in attrs))
    return items


_query = Table.query


def query(self, *args, **kwargs):
    _in_query.active = True
    try:
        return _query(self, *args, **kwargs)
    finally:
        _in_query.active = False


_modules = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: _modules
Table.all_items = all_items
Table.sorted_items = sorted_items
Table.query = query

if __name__ == "__main__":
    main()
