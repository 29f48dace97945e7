"""Add-ons: backing services (PostgreSQL, Redis) attached to apps as config vars.

``services/`` holds one plug-in module per kind of service (what its container runs, its
URL, its credentials, its backups); ``container.py`` and ``server.py`` are the providers
that put an add-on somewhere: its own container (the default), or a database on an
operator's PostgreSQL server. Business rules (who may do what) are in
``api/services/addons.py``; this package only talks to the engines.
"""
