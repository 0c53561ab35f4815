"""The web adapter: each member's page of their circle, on aiohttp.web, and the operator's
health and metrics endpoint."""
