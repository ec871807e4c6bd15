"""The audit app's own action codes, in words."""

from apps.audit.labels import register_actions


def register() -> None:
    register_actions(
        {
            "audit.chain_verified": (
                "Audit chain verified",
                "{actor} verified the audit chain: {data[result]}",
            ),
            "audit.chain_broken": (
                "Audit chain broken",
                "{actor} found the audit chain broken at event {data[seq]}",
            ),
        }
    )
    register_actions(
        {
            "audit.exported": ("Exported the audit trail", "{actor} exported the audit trail as CSV"),
            "audit.evidence_pack_exported": (
                "Downloaded an evidence pack",
                "{actor} downloaded the evidence pack of {target}",
            ),
        },
        read=True,
    )
