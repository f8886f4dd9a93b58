"""The status page: read-only pages for operators, clients and assistants, served beside the
service (`delegator.appserver`), rendered on the server from the same gathered data as
`delegator status` and the summaries (`delegator.overview`, `delegator.summaries`).

- ``access``: who may see what: an operator's sign-in, per-person signed links;
- ``views``: the data of each page, gathered from the rule files and the store;
- ``app``: the Starlette app, its routes and the Jinja2 templates (autoescaped).
"""
