"""Operations over the whole store: the audits, the key re-wrap and the memory view.

They sit above the session engine (docs/architecture.md): the integrity check
(``verify``), the cross-session leakage scan (``leakage_scan``), the KEK re-wrap of every
session's data keys (``rewrap``) and the memory figures of ``session monitor`` (``memory``)
read sessions with the engine's own types and sealer.
"""
