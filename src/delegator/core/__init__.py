"""The pure core: rules, tasks, the matrix and the engine. No I/O, no clock, no logging.

Everything that touches Asana, the database, the scheduler or the network lives outside this
package and passes data in; import-linter keeps it that way.
"""
