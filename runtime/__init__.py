"""The composition root: what the service is made of and how its processes
run. The catalogue of views, the WSGI entry point gunicorn loads, the views
runner's and the delivery worker's process mains, and ``serve``, which
supervises them all. Nothing below this floor imports it."""
