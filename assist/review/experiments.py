"""A/B experiments: which arm a conversation is in, and what that arm gets.

A conversation opened while an experiment is active is assigned to an arm by a stable hash of
the experiment's salt and the conversation's channel and external id, and the arm is stored on
the conversation (sticky: it never changes, whatever happens to the experiment later). The
`control` arm (an arm with no model version) gets no suggestions, like the paper's 2% holdout;
any other arm is ranked by its own model version. Conversations outside any experiment are
ranked by the active model version.
"""

import hashlib
from collections.abc import Sequence

from assist.models import Conversation, Experiment, ExperimentArm, ModelVersion


def arm_bucket(*, salt: str, channel: str, external_id: str, buckets: int) -> int:
    """A number in [0, buckets), the same for the same inputs on every machine and process."""
    digest = hashlib.sha256(f"{salt}\x1f{channel}\x1f{external_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % buckets


def arm_for(
    arms: Sequence[ExperimentArm], *, salt: str, channel: str, external_id: str
) -> ExperimentArm:
    """The arm whose slice of the cumulative weights the conversation's bucket falls in."""
    ordered = sorted(arms, key=lambda arm: arm.pk)
    bucket = arm_bucket(
        salt=salt,
        channel=channel,
        external_id=external_id,
        buckets=sum(arm.weight for arm in ordered),
    )
    for arm in ordered:
        if bucket < arm.weight:
            return arm
        bucket -= arm.weight
    raise AssertionError("the buckets are the sum of the weights")


def assign_arm(*, channel: str, external_id: str) -> ExperimentArm | None:
    """The arm of the active experiment for a new conversation; None when none is running."""
    experiment = Experiment.objects.filter(is_active=True).first()
    if experiment is None:
        return None
    arms = list(experiment.arms.all())
    if not arms:
        return None
    return arm_for(
        arms, salt=experiment.salt or experiment.name, channel=channel, external_id=external_id
    )


def suggestions_enabled(conversation: Conversation) -> bool:
    """False for a conversation in a control arm: it is never ranked."""
    arm = conversation.experiment_arm
    return arm is None or not arm.is_control


def arm_model_version(conversation: Conversation) -> ModelVersion | None:
    """The model version the conversation's arm prescribes; None: the active one serves."""
    arm = conversation.experiment_arm
    return arm.model_version if arm is not None else None
