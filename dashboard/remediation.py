"""What a team should do about each kind of finding, in words a team lead can act on.

Keyed by rule name (rules/builtin/*.yml). Site rules without an entry get the general advice.
"""

from __future__ import annotations

from dashboard.model import Remediation

GENERAL = Remediation(
    "Review the activity with the team and the vendor's terms.",
    (
        "Ask the team what the calls or files in the evidence were for.",
        "Compare that purpose with the vendor clause quoted in the finding; ask legal if unsure.",
        "Record the outcome, and tune or disable the rule for the site if it is a false positive.",
    ),
)

BY_RULE: dict[str, Remediation] = {
    "bulk_outputs_harvesting": Remediation(
        "Find out where the outputs of this spike went.",
        (
            "Ask the team which job produced the volume (the evidence lists users and models).",
            "If the outputs were stored for training or evaluation of another model, stop the job "
            "and quarantine the stored outputs until legal has reviewed the vendor clause.",
            "If it was a product launch or a one-off benchmark, note it; the baseline adapts within a week.",
        ),
    ),
    "batch_bulk_generation": Remediation(
        "Confirm what the batch results are used for.",
        (
            "Identify the batch jobs in the evidence and the datasets their results were written to.",
            "Keep batch outputs out of training sets unless the vendor's terms allow that use.",
            "Add the result directories to aiaudit's watched paths so reuse is detected.",
        ),
    ),
    "multi_sampling": Remediation(
        "Check why several completions per request are collected.",
        (
            "Several answers per prompt is the shape of preference or rejection-sampling data.",
            "If a product shows users alternatives, record that as the purpose.",
            "Otherwise reduce n to 1 and make sure the sampled answers are not kept for training.",
        ),
    ),
    "logprobs_harvesting": Remediation(
        "Stop collecting token probabilities at volume unless there is a product need.",
        (
            "Token probabilities with alternatives are the soft labels that distillation trains on.",
            "Ask the team for the purpose; confidence scoring rarely needs top_logprobs above 1.",
            "Delete stored probability data that has no documented product use.",
        ),
    ),
    "templated_prompting": Remediation(
        "Review the template-driven generation job.",
        (
            "One instruction filled with many topics is how synthetic training sets are generated.",
            "Find where the generated texts are stored and check them against the vendor clause.",
            "If the data is for a product feature, document it; if for training, get legal approval first.",
        ),
    ),
    "repeated_identical_prompts": Remediation(
        "Check the repeated sampling of one prompt.",
        (
            "Sending one prompt many times collects many answers to it, like multi-sampling.",
            "A retry loop or a load test explains it too: fix the loop or exclude the test client.",
            "Make sure the collected answers are not kept as training data.",
        ),
    ),
    "outputs_in_dataset": Remediation(
        "Remove vendor outputs from the dataset, or clear their use with legal.",
        (
            "Open the files and records listed in the evidence; coverage shows how much is vendor text.",
            "Quarantine the dataset from training pipelines until the reuse is resolved.",
            "Regenerate the affected records with a permitted source, or document legal approval.",
        ),
    ),
    "outputs_uploaded_for_training": Remediation(
        "Confirm the vendor's terms allow fine-tuning on its own outputs.",
        (
            "Some vendors allow fine-tuning their own models on their outputs; others do not.",
            "Check the clause in the finding and keep the legal review with the training job.",
            "Do not copy the fine-tuning file to other vendors or internal model training.",
        ),
    ),
    "cross_vendor_distillation": Remediation(
        "Stop the training job and withdraw the uploaded file.",
        (
            "One vendor's outputs were sent to another vendor for training: the use most terms forbid.",
            "Delete the uploaded file at the receiving vendor and cancel fine-tuning jobs built from it.",
            "Escalate to legal with this finding's evidence; it is the record of what happened.",
        ),
    ),
    "training_file_upload": Remediation(
        "No action needed on its own; keep the upload's purpose documented.",
        (
            "Uploads for fine-tuning are normal use; aiaudit scans their content for reused outputs.",
            "Make sure the training data's provenance is recorded with the job.",
        ),
    ),
    "unattributed_ai_traffic": Remediation(
        "Map this traffic to a team.",
        (
            "The evidence lists the users and client addresses that no mapping covers.",
            "Add them to `teams:` in aiaudit.yaml (proxy users, network ranges or API key hashes).",
            "Until then, nothing can be said about who uses these outputs.",
        ),
    ),
}


def remediation_for(rule_name: str) -> Remediation:
    return BY_RULE.get(rule_name, GENERAL)
