"""What a team should do about each kind of finding, in words a team lead can act on.

Keyed by rule name (rules/builtin/*.yml). Site rules without an entry get the general advice.
The texts are English msgids, translated where the report shows them (`translate` filter).
"""

from __future__ import annotations

from dashboard.language import N_
from dashboard.model import Remediation

GENERAL = Remediation(
    N_("Review the activity with the team and the vendor's terms."),
    (
        N_("Ask the team what the calls or files in the evidence were for."),
        N_("Compare that purpose with the vendor clause quoted in the finding; ask legal if unsure."),
        N_("Record the outcome, and tune or disable the rule for the site if it is a false positive."),
    ),
)

BY_RULE: dict[str, Remediation] = {
    "bulk_outputs_harvesting": Remediation(
        N_("Find out where the outputs of this spike went."),
        (
            N_("Ask the team which job produced the volume (the evidence lists users and models)."),
            N_("If the outputs were stored for training or evaluation of another model, stop the job "
               "and quarantine the stored outputs until legal has reviewed the vendor clause."),
            N_("If it was a product launch or a one-off benchmark, note it; the baseline adapts within a week."),
        ),
    ),
    "bulk_outputs_harvesting_by_key": Remediation(
        N_("Find the job behind this API key's spike."),
        (
            N_("The key's hash is in the evidence: look it up in your key inventory to find its owner and the "
               "job that uses it."),
            N_("One key far above its own usual volume is often a script running inside a larger team; ask "
               "where its outputs were stored."),
            N_("If they were kept for training or evaluation of another model, stop the job and quarantine "
               "them until legal has reviewed the vendor clause."),
        ),
    ),
    "batch_bulk_generation": Remediation(
        N_("Confirm what the batch results are used for."),
        (
            N_("Identify the batch jobs in the evidence and the datasets their results were written to."),
            N_("Keep batch outputs out of training sets unless the vendor's terms allow that use."),
            N_("Add the result directories to aiaudit's watched paths so reuse is detected."),
        ),
    ),
    "multi_sampling": Remediation(
        N_("Check why several completions per request are collected."),
        (
            N_("Several answers per prompt is the shape of preference or rejection-sampling data."),
            N_("If a product shows users alternatives, record that as the purpose."),
            N_("Otherwise reduce n to 1 and make sure the sampled answers are not kept for training."),
        ),
    ),
    "logprobs_harvesting": Remediation(
        N_("Stop collecting token probabilities at volume unless there is a product need."),
        (
            N_("Token probabilities with alternatives are the soft labels that distillation trains on."),
            N_("Ask the team for the purpose; confidence scoring rarely needs top_logprobs above 1."),
            N_("Delete stored probability data that has no documented product use."),
        ),
    ),
    "templated_prompting": Remediation(
        N_("Review the template-driven generation job."),
        (
            N_("One instruction filled with many topics is how synthetic training sets are generated."),
            N_("Find where the generated texts are stored and check them against the vendor clause."),
            N_("If the data is for a product feature, document it; if for training, get legal approval first."),
        ),
    ),
    "repeated_identical_prompts": Remediation(
        N_("Check the repeated sampling of one prompt."),
        (
            N_("Sending one prompt many times collects many answers to it, like multi-sampling."),
            N_("A retry loop or a load test explains it too: fix the loop or exclude the test client."),
            N_("Make sure the collected answers are not kept as training data."),
        ),
    ),
    "outputs_in_dataset": Remediation(
        N_("Remove vendor outputs from the dataset, or clear their use with legal."),
        (
            N_("Open the files and records listed in the evidence; coverage shows how much is vendor text."),
            N_("Quarantine the dataset from training pipelines until the reuse is resolved."),
            N_("Regenerate the affected records with a permitted source, or document legal approval."),
        ),
    ),
    "outputs_in_dataset_prompt_side": Remediation(
        N_("Check why vendor outputs sit in the prompts of this dataset."),
        (
            N_("The fields in the evidence are prompt-side: questions, instructions or pasted conversation, "
               "not training targets."),
            N_("A judge, rating or conversation set is a common reason; record it as the dataset's purpose."),
            N_("If the dataset trains a model to continue or answer from those texts, treat it as outputs in "
               "training data and ask legal."),
        ),
    ),
    "outputs_similar_in_dataset": Remediation(
        N_("Review whether these records were written from vendor outputs."),
        (
            N_("Similar means aligned phrases all along an output, as a heavy edit leaves them; another "
               "model's answer to the same prompt can look the same."),
            N_("Ask the team how the records were made: generated by another model, written by people, or "
               "edited from captured answers."),
            N_("Only if they were edited from captured answers, handle them as outputs in a dataset; otherwise "
               "record the source and close the finding."),
        ),
    ),
    "outputs_uploaded_for_training": Remediation(
        N_("Confirm the vendor's terms allow fine-tuning on its own outputs."),
        (
            N_("Some vendors allow fine-tuning their own models on their outputs; others do not."),
            N_("Check the clause in the finding and keep the legal review with the training job."),
            N_("Do not copy the fine-tuning file to other vendors or internal model training."),
        ),
    ),
    "cross_vendor_distillation": Remediation(
        N_("Stop the training job and withdraw the uploaded file."),
        (
            N_("One vendor's outputs were sent to another vendor for training: the use most terms forbid."),
            N_("Delete the uploaded file at the receiving vendor and cancel fine-tuning jobs built from it."),
            N_("Escalate to legal with this finding's evidence; it is the record of what happened."),
        ),
    ),
    "training_file_upload": Remediation(
        N_("No action needed on its own; keep the upload's purpose documented."),
        (
            N_("Uploads for fine-tuning are normal use; aiaudit scans their content for reused outputs."),
            N_("Make sure the training data's provenance is recorded with the job."),
        ),
    ),
    "unattributed_ai_traffic": Remediation(
        N_("Map this traffic to a team."),
        (
            N_("The evidence lists the users and client addresses that no mapping covers."),
            N_("Add them to `teams:` in aiaudit.yaml (proxy users, network ranges or API key hashes)."),
            N_("Until then, nothing can be said about who uses these outputs."),
        ),
    ),
}


def remediation_for(rule_name: str) -> Remediation:
    return BY_RULE.get(rule_name, GENERAL)
