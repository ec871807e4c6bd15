"""The organisations of the escalation and approval tests, for tests that span apps."""

from tests.approvals.conftest import org  # noqa: F401 - fixture
from tests.escalations.conftest import world  # noqa: F401 - fixture
