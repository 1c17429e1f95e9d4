"""contractledger.store"""

# The repository root is the package; importing this folder as a top-level
# `store` would load every class twice under two names, and event classes are
# stored by module path. Refuse loudly (DESIGN.md, "Dual-import trap").
if __name__ != "contractledger.store":
    raise ImportError(
        f"'{__name__}' must be imported as 'contractledger.store' "
        "(install the project with 'pip install -e .' and import it by that name)"
    )
