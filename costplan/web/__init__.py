"""The web page: `costplan serve`, the whole planner in a browser over the same core.

Top floor beside `cli/` and `render/` (docs/architecture.md): it calls the application layer
with the strings a form sends, renders with `render(result, fmt)`, and writes nothing to the
store. Starlette, Jinja2, uvicorn and python-multipart are the optional extra `web`.

* costplan.web.app          routes, templates, triage and request files, `create_app`;
* costplan.web.calculators  estimate, deadline, aggregation, volumes;
* costplan.web.forms        form strings, errors beside their field, en-GB formats;
* costplan.web.security     access control (token, trusted proxy header), body limit.
"""
