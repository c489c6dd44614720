"""Count the SQL statements a request runs (peewee logs each one at DEBUG)."""
import logging
from contextlib import contextmanager


class _Counter(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.statements = []

    def emit(self, record):
        if record.name != "peewee":  # peewee.pool logs connections, not statements
            return
        sql = record.msg[0] if isinstance(record.msg, tuple) else str(record.getMessage())
        self.statements.append(sql)


@contextmanager
def count_queries():
    """Yield a list that fills with the SQL statements run inside the block."""
    logger = logging.getLogger("peewee")
    handler = _Counter()
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield handler.statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
