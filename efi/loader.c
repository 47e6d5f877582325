/*
 * loader.c - gptmirror's test loader: an x64 EFI application that reports,
 * on the console (the serial line under QEMU), that it booted, the GPT
 * partition and file it was loaded from and BootCurrent, then powers the
 * machine off. It stands where Windows' loader would be on an ESP, so that
 * a boot can be checked end to end by reading the serial log.
 */
#include <efi.h>
#include <efilib.h>

static void print_hd(EFI_DEVICE_PATH *dp)
{
	while (dp && !IsDevicePathEnd(dp)) {
		if (DevicePathType(dp) == MEDIA_DEVICE_PATH &&
		    DevicePathSubType(dp) == MEDIA_HARDDRIVE_DP) {
			HARDDRIVE_DEVICE_PATH *hd = (HARDDRIVE_DEVICE_PATH *)dp;
			Print(L"GPTMIRROR-PARTITION %d %g\n", hd->PartitionNumber,
			      (EFI_GUID *)hd->Signature);
		}
		dp = NextDevicePathNode(dp);
	}
}

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	EFI_LOADED_IMAGE *li = NULL;
	EFI_STATUS st;
	UINT16 current = 0;
	UINTN size = sizeof(current);

	InitializeLib(image, systab);
	Print(L"\nGPTMIRROR-LOADER BOOTED\n");
	st = uefi_call_wrapper(BS->HandleProtocol, 3, image, &LoadedImageProtocol,
			       (void **)&li);
	if (!EFI_ERROR(st) && li) {
		print_hd(DevicePathFromHandle(li->DeviceHandle));
		Print(L"GPTMIRROR-FILE %s\n", DevicePathToStr(li->FilePath));
	}
	st = uefi_call_wrapper(RT->GetVariable, 5, L"BootCurrent", &EfiGlobalVariable,
			       NULL, &size, &current);
	if (EFI_ERROR(st))
		Print(L"GPTMIRROR-BOOTCURRENT none\n");
	else
		Print(L"GPTMIRROR-BOOTCURRENT %04x\n", current);
	Print(L"GPTMIRROR-POWEROFF\n");
	uefi_call_wrapper(RT->ResetSystem, 4, EfiResetShutdown, EFI_SUCCESS, 0, NULL);
	return EFI_SUCCESS;
}
