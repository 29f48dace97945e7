"""Pier's runtime: converge a container engine and a router to a plain desired state.

Nothing here imports Django. The control plane hands :func:`runtime.loop.run_forever` (or
:meth:`runtime.reconciler.Reconciler.reconcile`) a list of :class:`runtime.desired.DesiredApp`.

One way in for each concern: the engine only through a backend
(:class:`runtime.backends.base.BaseBackend`: app processes, one-offs, orphans, output),
the router only through :class:`runtime.router.base.BaseRouter`, the log line format only
through :mod:`runtime.applog`; log shipping lives in :mod:`runtime.logship`.
"""
