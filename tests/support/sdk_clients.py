"""The vendors' official SDK clients, configured to go through a proxy that trusts `ca_path`.

The SDKs live in their own venv (`.venv-clients`, made by `./install.sh --dev`) so that their pins
cannot change the product's: these factories run there, inside the functions that tests mark with
`tests.support.client_side.client_side`. Each SDK is imported inside its factory, so the constants
here can be imported anywhere. Clients never retry (a retry would hide what the proxy did to the
first attempt) and time out quickly. Environment proxy settings are ignored: traffic goes to
`proxy_url` only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.raw_http import DEFAULT_TIMEOUT
from tests.support.raw_http import httpx_client
from tests.support.raw_http import ssl_context

__all__ = ["httpx_client", "ssl_context"]  # re-exported: client functions use them from here

FAKE_KEYS = {
    "openai": "sk-proj-standin-0000000000000000",
    "azure-openai": "standin-azure-key-00000000",
    "anthropic": "sk-ant-standin-000000000000",
    "google": "AIzaSyStandin00000000000000000000000",
    "cohere": "standin-cohere-key-0000000000",
    "aws-access-key": "AKIASTANDIN000000000",
    "aws-secret-key": "standin/secret/key/0000000000000000000000",
}


# Where each OpenAI-compatible vendor's API lives, for `openai_client(base_url=...)`.
OPENAI_COMPATIBLE_BASE_URLS = {
    "mistral": "https://api.mistral.ai/v1",
    "deepseek": "https://api.deepseek.com",
    "xai": "https://api.x.ai/v1",
    "groq": "https://api.groq.com/openai/v1",
    "together": "https://api.together.xyz/v1",
    "fireworks": "https://api.fireworks.ai/inference/v1",
    "perplexity": "https://api.perplexity.ai",
    "openrouter": "https://openrouter.ai/api/v1",
    "huggingface": "https://router.huggingface.co/v1",
    "cohere": "https://api.cohere.ai/compatibility/v1",
}


def openai_client(proxy_url: str, ca_path: Path | str, base_url: str = "https://api.openai.com/v1",
                  api_key: str = FAKE_KEYS["openai"], timeout: float = DEFAULT_TIMEOUT,
                  **kwargs: Any) -> Any:
    """OpenAI, and every OpenAI-compatible vendor through its `base_url`."""
    import openai

    return openai.OpenAI(api_key=api_key, base_url=base_url, max_retries=0, timeout=timeout,
                         http_client=httpx_client(proxy_url, ca_path, timeout), **kwargs)


def azure_openai_client(proxy_url: str, ca_path: Path | str,
                        azure_endpoint: str = "https://standin-resource.openai.azure.com",
                        api_version: str = "2024-10-21",
                        api_key: str = FAKE_KEYS["azure-openai"],
                        timeout: float = DEFAULT_TIMEOUT, **kwargs: Any) -> Any:
    import openai

    return openai.AzureOpenAI(azure_endpoint=azure_endpoint, api_version=api_version,
                              api_key=api_key, max_retries=0, timeout=timeout,
                              http_client=httpx_client(proxy_url, ca_path, timeout), **kwargs)


def anthropic_client(proxy_url: str, ca_path: Path | str,
                     base_url: str = "https://api.anthropic.com",
                     api_key: str = FAKE_KEYS["anthropic"], timeout: float = DEFAULT_TIMEOUT,
                     **kwargs: Any) -> Any:
    """anthropic 2.x only accepts an `httpx2` client; 0.x/1.x take an `httpx` one."""
    import anthropic

    try:
        import httpx2 as http_package
    except ImportError:
        import httpx as http_package  # type: ignore[no-redef]
    http_client = http_package.Client(proxy=proxy_url, verify=ssl_context(ca_path),
                                      timeout=timeout, trust_env=False)
    return anthropic.Anthropic(api_key=api_key, base_url=base_url, max_retries=0,
                               timeout=timeout, http_client=http_client, **kwargs)


def genai_client(proxy_url: str, ca_path: Path | str, api_key: str = FAKE_KEYS["google"],
                 vertexai: bool = False, timeout: float = DEFAULT_TIMEOUT,
                 **kwargs: Any) -> Any:
    """google-genai for the Gemini API, or for Vertex AI in express mode (API key)."""
    from google import genai
    from google.genai import types

    http_options = types.HttpOptions(
        timeout=int(timeout * 1000),
        client_args={"proxy": proxy_url, "verify": ssl_context(ca_path), "trust_env": False},
        retry_options=types.HttpRetryOptions(attempts=1),
    )
    return genai.Client(api_key=api_key, vertexai=vertexai, http_options=http_options, **kwargs)


def bedrock_client(proxy_url: str, ca_path: Path | str, region: str = "us-east-1",
                   timeout: float = DEFAULT_TIMEOUT, **kwargs: Any) -> Any:
    """boto3 bedrock-runtime with static fake credentials (no lookup of real ones)."""
    import boto3
    from botocore.config import Config

    config = Config(proxies={"http": proxy_url, "https": proxy_url},
                    retries={"total_max_attempts": 1, "mode": "standard"},
                    connect_timeout=timeout, read_timeout=timeout)
    return boto3.client("bedrock-runtime", region_name=region, verify=str(ca_path),
                        aws_access_key_id=FAKE_KEYS["aws-access-key"],
                        aws_secret_access_key=FAKE_KEYS["aws-secret-key"],
                        config=config, **kwargs)


def cohere_client(proxy_url: str, ca_path: Path | str, api_key: str = FAKE_KEYS["cohere"],
                  v2: bool = True, base_url: str = "https://api.cohere.com",
                  timeout: float = DEFAULT_TIMEOUT, **kwargs: Any) -> Any:
    """cohere.ClientV2 (v2 chat), or cohere.Client (v1 chat) with `v2=False`."""
    import cohere

    client_class = cohere.ClientV2 if v2 else cohere.Client
    return client_class(api_key=api_key, base_url=base_url, timeout=timeout,
                        httpx_client=httpx_client(proxy_url, ca_path, timeout), **kwargs)
