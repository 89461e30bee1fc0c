"""``python -m sparkify_dw.cluster``: ``sparkify-dw cluster``, the production engine's
command to create, inspect and delete the cloud resources a warehouse runs on (found
through the backend registry; :mod:`sparkify_dw.cli.cluster` mounts it)."""
