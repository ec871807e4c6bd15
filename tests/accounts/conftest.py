from tests.accounts.oidc_provider import oidc_provider  # noqa: F401 - a fixture
