"""fabscope's bottom layer: settings (``fabscope.settings``) and the exception hierarchy (``fabscope.errors``).

Every other package (hardware_sim, models, pipelines, app) may import this one; it imports only the
standard library and pydantic / pydantic-settings.
"""
