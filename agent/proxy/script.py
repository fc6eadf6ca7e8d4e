"""Entry file for `mitmdump -s`: the addon itself lives in the installed package."""

from agent.proxy.addon import AICapture

addons = [AICapture()]
