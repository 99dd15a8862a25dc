"""Policy group: export-control events and the Entity List excerpt."""


from pipelines.assets.reference_assets import reference_asset
from pipelines.checks import table_check

export_controls = reference_asset(
    "export_controls", "policy", "US export-control actions 2018→today and Chinese countermeasures (curated)."
)
entity_list = reference_asset(
    "entity_list", "policy", "Entity List excerpt: Chinese chip firms and the action that listed them.",
    deps=["export_controls"],
)

ASSETS = [export_controls, entity_list]
CHECKS = [
    table_check("export_controls", min_rows=15, conditions=("effective_date IS NOT NULL",
                                                            "flag IN ('reported', 'estimate')")),
    table_check("entity_list", min_rows=10, conditions=("flag IN ('reported', 'estimate')",)),
]
