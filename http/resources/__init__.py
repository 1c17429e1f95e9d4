"""The API's routes, a module a family: commands on contracts, parties and oversight; the reads; the dashboard;
the exports; the sync peers' routes."""
