"""contractledger.projections.engine: the views engine, apart from the read
models beside it in ``projections/``.

What keeps a view current and readable, whatever it holds: the ``View`` and
its handlers (``view``), the row buffers a view writes through (``rows``),
the runner that reads the log in batches and applies them (``runner``,
``write_pipeline``, ``runner_metrics``, ``service``), each view's position
and live generation (``positions``), rebuilds and replays (``rebuild``,
``replay``, ``progress``), the view database on either store
(``view_database``), reading the live tables (``queries``) and waiting until
a position has been applied (``waiting``). Nothing here imports a read model.
"""

if __name__ != "contractledger.projections.engine":
    raise ImportError(
        f"'{__name__}' must be imported as 'contractledger.projections.engine' "
        "(install the project with 'pip install -e .' and import it by that name)"
    )
