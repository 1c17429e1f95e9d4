"""contractledger.domain"""

# The repository root is the package; importing this folder as a top-level
# `domain` would load every class twice under two names, and event classes are
# stored by module path. Refuse loudly (DESIGN.md, "Dual-import trap").
if __name__ != "contractledger.domain":
    raise ImportError(
        f"'{__name__}' must be imported as 'contractledger.domain' "
        "(install the project with 'pip install -e .' and import it by that name)"
    )
