"""Commands over HTTP: a route per command (``route``), the bodies they take (``bodies``) and what they answer
(``answers``)."""
