"""Take the screenshots in this folder from a running Rapport with the demo data (`make run`).

    python docs/screenshots/take.py http://127.0.0.1:8000

The card, the customer list, My day, the dashboard and an event, at 1366 and 390 px wide,
each whole (up to 6,400 px tall) and saved as a 256-colour PNG so the folder stays small.
"""

import io
import re
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
WIDTHS = {"laptop": (1366, 860), "phone": (390, 844)}
MAX_HEIGHT = 6400  # every page whole at both widths (the dashboard on a phone is the tallest, ~6,000 px)


def save(page, name: str) -> None:
    png = page.screenshot(full_page=True)
    image: Image.Image = Image.open(io.BytesIO(png))
    whole = image.height
    image = image.crop((0, 0, image.width, min(image.height, MAX_HEIGHT)))
    image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(HERE / f"{name}.png", optimize=True)
    print(HERE / f"{name}.png", f"{whole} px" + (f", cut at {MAX_HEIGHT}" if whole > MAX_HEIGHT else ""))


def main(base: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
        )
        for device, (width, height) in WIDTHS.items():
            for username, pages in (("staff", ["my-day"]), ("owner", ["list", "card", "dashboard", "event"])):
                context = browser.new_context(viewport={"width": width, "height": height}, base_url=base)
                page = context.new_page()
                page.goto("/login/")
                page.fill("input[name=username]", username)
                page.fill("input[name=password]", "rapport-demo")
                page.click("button[type=submit]")
                page.wait_for_url(lambda url: "/login/" not in url)
                for name in pages:
                    if name == "my-day":
                        page.goto("/")
                    elif name == "list":
                        page.goto("/customers/")
                    elif name == "card":
                        # The regular with the longest story: the list sorted by most purchases is not a
                        # page, so open the closest customer from the rings.
                        page.goto("/dashboard/rings/?scope=shop")
                        page.goto(page.locator("ol a").first.get_attribute("href") or "/customers/")
                    elif name == "dashboard":
                        page.goto("/dashboard/?weeks=52")
                        page.wait_for_timeout(800)  # Chart.js animates in
                    elif name == "event":
                        page.goto("/community/")
                        # The upcoming event (the demo makes it last): answers, and who gets no email.
                        hrefs = page.eval_on_selector_all(
                            "a[href*='/community/events/']", "links => links.map(a => a.getAttribute('href'))"
                        )
                        events = [h for h in hrefs if re.fullmatch(r"/community/events/\d+/", h)]
                        page.goto(max(events, key=lambda h: int(h.split("/")[-2])))
                    page.wait_for_load_state("networkidle")
                    save(page, f"{name}-{device}")
                context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
