"""delegator: hands the urgent-but-not-important Asana tasks of a small business to its assistants."""

__version__ = "0.1.0"
