// SPDX-License-Identifier: GPL-2.0
/*
 * hwp_edac: the memory controller of the harness' guests, for EDAC.
 *
 * A server's EDAC driver (skx_edac, i10nm_edac, ...) decodes each memory
 * error that the machine-check code logs into a DIMM and reports it with
 * edac_mc_handle_error(), which emits ras:mc_event: the record that
 * rasdaemon stores and that its page isolation counts per page. QEMU
 * emulates no memory controller that an EDAC driver knows, so this module
 * stands in for one: one controller, one DIMM spanning all memory, fed by
 * the machine-check decode chain with the corrected memory errors whose
 * physical address is usable. Like the real drivers, it leaves alone an
 * error that the corrected-error collector (CONFIG_RAS_CEC) has taken:
 * boot with ras=cec_disable to see them all here.
 *
 * Built outside the kernel tree by the harness, against each test kernel.
 */
#include <linux/module.h>
#include <linux/edac.h>
#include <linux/mm.h>
#include <linux/platform_device.h>
#include <asm/mce.h>
#include "edac_module.h"

static struct platform_device *hwp_edac_pdev;
static struct mem_ctl_info *hwp_edac_mci;

static int hwp_edac_decode(struct notifier_block *nb, unsigned long val,
			   void *data)
{
	struct mce *m = data;
	u64 addr;

	if (!m || (m->kflags & MCE_HANDLED_CEC))
		return NOTIFY_DONE;
	if (!mce_is_memory_error(m) || !mce_is_correctable(m) ||
	    !mce_usable_address(m))
		return NOTIFY_DONE;
	addr = m->addr & MCI_ADDR_PHYSADDR;
	edac_mc_handle_error(HW_EVENT_ERR_CORRECTED, hwp_edac_mci, 1,
			     addr >> PAGE_SHIFT, addr & ~PAGE_MASK, 0, 0, -1, -1,
			     "memory read error", "");
	m->kflags |= MCE_HANDLED_EDAC;
	return NOTIFY_DONE;
}

static struct notifier_block hwp_edac_nb = {
	.notifier_call	= hwp_edac_decode,
	.priority	= MCE_PRIO_EDAC,
};

static int __init hwp_edac_init(void)
{
	struct edac_mc_layer layer = {
		.type = EDAC_MC_LAYER_SLOT,
		.size = 1,
		.is_virt_csrow = true,
	};
	struct mem_ctl_info *mci;
	struct dimm_info *dimm;
	int err;

	hwp_edac_pdev = platform_device_register_simple("hwp_edac", -1, NULL,
							0);
	if (IS_ERR(hwp_edac_pdev))
		return PTR_ERR(hwp_edac_pdev);
	mci = edac_mc_alloc(0, 1, &layer, 0);
	if (!mci) {
		err = -ENOMEM;
		goto unregister;
	}
	mci->pdev = &hwp_edac_pdev->dev;
	mci->mtype_cap = MEM_FLAG_DDR4;
	mci->edac_ctl_cap = EDAC_FLAG_SECDED;
	mci->edac_cap = EDAC_FLAG_SECDED;
	mci->mod_name = "hwp_edac";
	mci->ctl_name = "hwp_edac";
	mci->dev_name = "hwp_edac";
	mci->scrub_mode = SCRUB_NONE;
	dimm = edac_get_dimm(mci, 0, 0, 0);
	if (!dimm) {
		err = -EINVAL;
		goto free;
	}
	dimm->nr_pages = totalram_pages();
	dimm->grain = 64;
	dimm->mtype = MEM_DDR4;
	dimm->dtype = DEV_X8;
	dimm->edac_mode = EDAC_SECDED;
	snprintf(dimm->label, sizeof(dimm->label), "DIMM_A0");
	err = edac_mc_add_mc(mci);
	if (err)
		goto free;
	hwp_edac_mci = mci;
	mce_register_decode_chain(&hwp_edac_nb);
	return 0;
free:
	edac_mc_free(mci);
unregister:
	platform_device_unregister(hwp_edac_pdev);
	return err;
}

static void __exit hwp_edac_exit(void)
{
	mce_unregister_decode_chain(&hwp_edac_nb);
	edac_mc_del_mc(&hwp_edac_pdev->dev);
	edac_mc_free(hwp_edac_mci);
	platform_device_unregister(hwp_edac_pdev);
}

module_init(hwp_edac_init);
module_exit(hwp_edac_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("EDAC memory controller of the hwp test guests");
