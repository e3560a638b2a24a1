"""Words of the three-way call (三方通话) on the desk."""

WORDS: dict[str, tuple[str, str]] = {
    "threeway.title": ("三方通话", "Three-way call"),
    "threeway.unit": ("接通承办单位值班电话", "Bring in the unit's duty phone"),
    "threeway.submit": ("发起三方通话", "Start the three-way call"),
    "threeway.none": ("暂无登记值班电话的承办单位", "No unit has a duty phone on record"),
    "threeway.joined": ("已接通{unit}值班电话（{phone}），三方通话中", "{unit}'s duty phone ({phone}) "
                        "joined: three-way call"),
    "threeway.no_call": ("当前没有通话，无法发起三方通话", "No call to join"),
    "threeway.unit_unknown": ("承办单位不存在或已停用", "No such unit, or the unit is inactive"),
    "threeway.no_duty_phone": ("{unit}未登记有效的值班电话", "{unit} has no usable duty phone"),
    "threeway.not_answered": ("{unit}值班电话未接听，通话未受影响", "{unit}'s duty phone did not "
                              "answer; the call goes on as it was"),
    "threeway.call_gone": ("单位接听前通话已结束", "The call ended before the unit answered"),
    "threeway.ami_down": ("与交换机的连接中断，无法发起三方通话", "No link to Asterisk: no "
                          "three-way call"),
}
