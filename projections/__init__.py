"""contractledger.projections"""

# The repository root is the package; importing this folder as a top-level
# `projections` would load every class twice under two names, and event classes are
# stored by module path. Refuse loudly (DESIGN.md, "Dual-import trap").
if __name__ != "contractledger.projections":
    raise ImportError(
        f"'{__name__}' must be imported as 'contractledger.projections' "
        "(install the project with 'pip install -e .' and import it by that name)"
    )
