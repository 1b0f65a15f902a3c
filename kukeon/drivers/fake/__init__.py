"""In-memory drivers with the same observable behaviour as the real ones, for unit tests.

Gaps, on purpose: no processes run (a task is "running" until ``exit_task`` is called),
images are "present" once ensured (any ref resolves to a digest derived from its name,
unless listed in ``missing_images``), no real IPs or limits are enforced. Prefer the
integration tests when behaviour of the host itself matters.
"""

from kukeon.drivers.fake.cgroups import FakeCgroups
from kukeon.drivers.fake.network import FakeNetwork
from kukeon.drivers.fake.runtime import FakeRuntime

__all__ = ["FakeCgroups", "FakeNetwork", "FakeRuntime"]
