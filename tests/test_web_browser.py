"""The office's web page in a real browser: headless Chromium (Debian's chromium and
chromium-driver) driven by Selenium against the app served on 127.0.0.1 by a real server.

The office's admin opens a login link, reads the overview, opens a group, approves a leave request
with one click; a member opening the group page is refused. Screenshots of each step are saved
under $TEST_ARTIFACTS (default artifacts/screenshots) for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from app import create_app
from bot.office_login import login_url
from models import Activity, CheckIn, InboundMessage, LeaveRequest
from tests.conftest import NOW, ROOT

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
SHOTS = Path(os.environ.get("TEST_ARTIFACTS", ROOT / "artifacts")) / "screenshots"


@pytest.fixture
def served(write_config, config_dict, tmp_path, roster):
    """The app on a real HTTP server in this process, its clock fixed at NOW."""
    app = create_app(
        write_config(
            scheduler={**config_dict["scheduler"], "enabled": False},
        )
    )
    runtime = app.extensions["bot"]
    runtime.now = lambda: NOW
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    runtime.settings = runtime.settings.model_copy(
        update={"web": runtime.settings.web.model_copy(update={"public_url": base})}
    )
    yield runtime, base
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if shutil.which(p) is None]
    assert not missing, f"{missing} not found: apt-get install -y chromium chromium-driver (.ci/run does)"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def _shot(driver, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    height = driver.execute_script("return document.documentElement.scrollHeight")
    width = driver.execute_script("return window.innerWidth")
    driver.set_window_size(max(width, 360), min(max(height + 120, 600), 3000))
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 2_000  # a rendered page, not a blank one
    return path


@pytest.fixture
def county(say, runtime, roster):
    """第一联络组: a 视察 held last week (张三 and 李四 checked in), a 座谈会 on Friday with 张三's leave
    request pending, a note; 第二联络组: a note."""
    with runtime.sessions.begin() as s:
        past = Activity(
            group_id=_group_of(runtime, roster["王组长"]),
            kind="inspection",
            title="视察 城区污水处理厂",
            date=(NOW - dt.timedelta(days=6)).date(),
            time=dt.time(9, 0),
            announced_by_id=roster["王组长"],
            created_at=NOW - dt.timedelta(days=8),
        )
        s.add(past)
        s.flush()
        for name in ("张三", "李四"):
            s.add(CheckIn(activity_id=past.id, member_id=roster[name], checked_in_at=NOW - dt.timedelta(days=6)))
    assert "已发布活动" in say("王组长", "发布活动 11月27日下午3点 座谈会 民营经济发展 地点：政协三楼")
    assert "请假#" in say("张三", "请假 周五的座谈会 单位开会")
    assert "编号#" in say("李四", "社情民意：关于老旧小区加装电梯的建议\n建议简化审批流程，设立专项补贴。")
    assert "编号#" in say("周七", "社情民意：关于农村客运班线的建议\n建议恢复早晚两班。")


def _group_of(runtime, member_id: int) -> int:
    from models import Member

    with runtime.sessions() as s:
        return s.get(Member, member_id).group_id


def _open(driver, url: str) -> None:
    driver.get(url)
    WebDriverWait(driver, 10).until(ec.presence_of_element_located((By.TAG_NAME, "main")))


def test_the_office_logs_in_by_link_reads_the_county_opens_a_group_and_approves_a_leave(
    served, browser, county, roster
):
    runtime, base = served
    _open(browser, login_url(runtime.settings, roster["陈主任"], NOW))
    rows = browser.find_elements(By.CSS_SELECTOR, "#overview tbody tr")
    assert [r.find_element(By.TAG_NAME, "a").text for r in rows] == ["第一联络组", "第二联络组"]
    first = rows[0].find_elements(By.CSS_SELECTOR, "span.cell")
    assert first[0].text == "1/1 已完成"  # 李四's note this month
    assert "done" in first[0].get_attribute("class")
    assert browser.find_element(By.ID, "took-part").text == "3"  # 张三, 李四 checked in; 周七 wrote
    _shot(browser, "1-overview")

    rows[0].find_element(By.LINK_TEXT, "第一联络组").click()
    WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.ID, "members")))
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("第一联络组")
    zhang = browser.find_element(By.CSS_SELECTOR, f"#members tr[data-member='{roster['张三']}']")
    assert zhang.find_elements(By.TAG_NAME, "td")[11].text == "0/1/0/0"  # November: attended the 视察
    assert browser.find_elements(By.CSS_SELECTOR, "figure.chart svg rect")
    _shot(browser, "2-group")

    with runtime.sessions() as s:
        leave_id = s.query(LeaveRequest.id).filter_by(member_id=roster["张三"]).scalar()
    browser.find_element(By.CSS_SELECTOR, f"button[data-action='approve_leave-{leave_id}']").click()
    flash = WebDriverWait(browser, 10).until(ec.presence_of_element_located((By.CSS_SELECTOR, "p.flash")))
    assert "已同意" in flash.text and "张三" in flash.text
    assert not browser.find_elements(By.ID, "group-pending")  # nothing waits any more
    _shot(browser, "3-approved")
    with runtime.sessions() as s:
        leave = s.get(LeaveRequest, leave_id)
        assert (leave.status, leave.decided_by_id) == ("approved", roster["陈主任"])
        decided = s.get(InboundMessage, leave.decision_message_id)
        assert (decided.platform, decided.text) == ("web", f"同意 #{leave_id}")


def test_a_member_sees_their_own_record_and_is_refused_the_group_page(served, browser, county, roster):
    runtime, base = served
    browser.set_window_size(390, 844)  # a phone
    _open(browser, login_url(runtime.settings, roster["张三"], NOW))
    assert browser.find_element(By.TAG_NAME, "h1").text.startswith("张三")
    assert browser.find_element(By.ID, "m-attended").text == "1"
    _shot(browser, "4-member-phone")
    group_id = _group_of(runtime, roster["张三"])
    _open(browser, f"{base}{runtime.settings.web.prefix}/group/{group_id}")
    assert "没有查看这一页的权限" in browser.find_element(By.TAG_NAME, "main").text
    assert not browser.find_elements(By.ID, "members")
    _shot(browser, "5-refused")
