"""The Neutron v2.0 REST API (ASGI, Starlette): schemas, filters, fields, paging, errors."""
