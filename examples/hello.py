"""The first function: greets, logs, and returns a JSON object."""

from loguru import logger


def run(name: str = "world", times: int = 1):
    for i in range(times):
        logger.info(f"hello {name} ({i + 1}/{times})")
    return {"greeting": f"hello {name}", "times": times}
