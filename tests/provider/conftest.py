from prov_fakes import cw, provider_env  # noqa: F401  (fixtures)
