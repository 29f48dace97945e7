"""Pier's runtime: converge a container engine and a router to a plain desired state.

Nothing here imports Django. The control plane hands :func:`runtime.loop.run_forever` (or
:meth:`runtime.reconciler.Reconciler.reconcile`) a list of :class:`runtime.desired.DesiredApp`.
"""
