/*
 * loader.c - gptmirror's test loader: an x64 EFI application that stands
 * where Windows' loader would be on an ESP, so that a boot can be checked
 * end to end by reading the serial log (the console under QEMU).
 *
 * It reports that it ran, the GPT partition and file it was loaded from and
 * BootCurrent. Then, as Windows' loader must, it looks for its OS: when its
 * load options are WINDOWS_OS_OPTIONS, it follows their OsFilePath (an HD()
 * node and a File node) to the partition whose GPT unique GUID the HD()
 * node names, among the firmware's block devices, and looks there for
 * <OS directory>\system32\ntoskrnl.exe: on NTFS with src/fmt/ntfsfind.c
 * (OVMF has no NTFS driver; the same reader does the emulated boot's
 * check), on FAT through the firmware's own file system. Found: it powers
 * the machine off. Not found: it prints Windows' message and returns
 * EFI_NOT_FOUND, and the boot manager goes on to the next entry.
 *
 * Lines for gptmirror start with GPTMIRROR-; machine boot --qemu reads them.
 */
#include <efi.h>
#include <efilib.h>

#include "../src/fmt/ntfsfind.h"

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

static UINT32 le32(const UINT8 *p)
{
	return (UINT32)p[0] | (UINT32)p[1] << 8 | (UINT32)p[2] << 16 | (UINT32)p[3] << 24;
}

/* The OS's partition GUID and directory from WINDOWS_OS_OPTIONS: "WINDOWS\0",
 * Version, Length, OsLoadPathOffset, OsLoadOptions, then a FILE_PATH
 * {Version, Length, Type 4, device path}. FALSE when there are none. */
static BOOLEAN os_path(const UINT8 *o, UINTN len, EFI_GUID *guid, CHAR16 *dir, UINTN cap)
{
	static const UINT8 sig[8] = {'W', 'I', 'N', 'D', 'O', 'W', 'S', 0};
	BOOLEAN have_hd = FALSE;

	if (!o || len < 20 || CompareMem((VOID *)o, (VOID *)sig, 8) != 0)
		return FALSE;
	UINT32 total = le32(o + 12), off = le32(o + 16);
	if (total > len || off < 20 || off > total || total - off < 12)
		return FALSE;
	const UINT8 *fp = o + off;
	UINT32 flen = le32(fp + 4);
	if (le32(fp + 8) != 4 || flen < 12 || flen > total - off)
		return FALSE;
	const UINT8 *p = fp + 12, *end = fp + flen;
	dir[0] = 0;
	while (end - p >= 4) {
		UINTN nl = (UINTN)p[2] | (UINTN)p[3] << 8;
		if (nl < 4 || nl > (UINTN)(end - p) || p[0] == END_DEVICE_PATH_TYPE)
			break;
		if (p[0] == MEDIA_DEVICE_PATH && p[1] == MEDIA_HARDDRIVE_DP && nl >= 42 &&
		    p[41] == SIGNATURE_TYPE_GUID) {
			CopyMem(guid, (VOID *)(p + 24), sizeof(*guid));
			have_hd = TRUE;
		}
		if (p[0] == MEDIA_DEVICE_PATH && p[1] == MEDIA_FILEPATH_DP) {
			UINTN n = (nl - 4) / 2, i;
			for (i = 0; i < n && i + 1 < cap; i++) {
				dir[i] = (CHAR16)(p[4 + 2 * i] | p[5 + 2 * i] << 8);
				if (!dir[i])
					break;
			}
			dir[i] = 0;
		}
		p += nl;
	}
	if (!dir[0])
		StrCpy(dir, L"\\WINDOWS");
	return have_hd;
}

/* The block device of the partition whose GPT unique GUID is g. */
static EFI_HANDLE find_partition(const EFI_GUID *g)
{
	EFI_HANDLE *h = NULL, found = NULL;
	UINTN n = 0;

	if (EFI_ERROR(LibLocateHandle(ByProtocol, &BlockIoProtocol, NULL, &n, &h)))
		return NULL;
	for (UINTN i = 0; i < n && !found; i++) {
		EFI_DEVICE_PATH *dp = DevicePathFromHandle(h[i]);
		HARDDRIVE_DEVICE_PATH *last = NULL;
		for (; dp && !IsDevicePathEnd(dp); dp = NextDevicePathNode(dp))
			if (DevicePathType(dp) == MEDIA_DEVICE_PATH &&
			    DevicePathSubType(dp) == MEDIA_HARDDRIVE_DP)
				last = (HARDDRIVE_DEVICE_PATH *)dp;
		if (last && last->SignatureType == SIGNATURE_TYPE_GUID &&
		    CompareMem(last->Signature, (VOID *)g, 16) == 0)
			found = h[i];
	}
	FreePool(h);
	return found;
}

struct disk_ctx {
	EFI_DISK_IO *dio;
	UINT32 media;
};

static int disk_read(void *ctx, uint64_t off, void *buf, uint32_t len)
{
	struct disk_ctx *c = ctx;
	EFI_STATUS st = uefi_call_wrapper(c->dio->ReadDisk, 5, c->dio, c->media, off, (UINTN)len,
					  buf);
	return EFI_ERROR(st) ? -1 : 0;
}

enum os_result { OS_FOUND, OS_NO_DISK, OS_MISSING };

/* NTFS: 1 found, 0 not, -1 not an NTFS volume (or unreadable). */
static int ntfs_has(EFI_HANDLE part, const CHAR16 *path)
{
	EFI_BLOCK_IO *bio;
	struct disk_ctx c;
	char a[600];
	UINTN i;
	int rc = -1;

	if (EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, part, &BlockIoProtocol,
					(void **)&bio)) ||
	    EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, part, &DiskIoProtocol,
					(void **)&c.dio)))
		return -1;
	c.media = bio->Media->MediaId;
	for (i = 0; path[i] && i + 1 < sizeof(a); i++)
		a[i] = path[i] < 128 ? (char)path[i] : '?';
	a[i] = 0;
	struct ntfs_find *f = AllocatePool(sizeof(*f));
	if (!f)
		return -1;
	uint64_t bytes = (bio->Media->LastBlock + 1) * bio->Media->BlockSize;
	if (ntfs_find_open(f, disk_read, &c, bytes) == 0) {
		int r = ntfs_find_path(f, a);
		rc = r < 0 ? -1 : r == NTFS_FIND_FILE;
		if (r < 0)
			Print(L"GPTMIRROR-NTFS %a\n", f->why);
	}
	FreePool(f);
	return rc;
}

/* FAT through the firmware: 1 found, 0 not, -1 no file system. */
static int fat_has(EFI_HANDLE part, CHAR16 *path)
{
	EFI_FILE_IO_INTERFACE *fs;
	EFI_FILE_HANDLE root, file;
	int rc = 0;

	if (EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, part, &FileSystemProtocol,
					(void **)&fs)) ||
	    EFI_ERROR(uefi_call_wrapper(fs->OpenVolume, 2, fs, &root)))
		return -1;
	if (!EFI_ERROR(uefi_call_wrapper(root->Open, 5, root, &file, path, EFI_FILE_MODE_READ,
					 0))) {
		EFI_FILE_INFO *info = LibFileInfo(file);
		rc = info && !(info->Attribute & EFI_FILE_DIRECTORY);
		if (info)
			FreePool(info);
		uefi_call_wrapper(file->Close, 1, file);
	}
	uefi_call_wrapper(root->Close, 1, root);
	return rc;
}

static enum os_result find_os(const EFI_GUID *g, const CHAR16 *dir)
{
	CHAR16 path[600];
	EFI_HANDLE part = find_partition(g);

	if (!part)
		return OS_NO_DISK;
	if (StrLen(dir) > 500)
		return OS_MISSING;
	StrCpy(path, dir);
	StrCat(path, L"\\system32\\ntoskrnl.exe");
	int rc = ntfs_has(part, path);
	if (rc < 0)
		rc = fat_has(part, path);
	return rc < 0 ? OS_NO_DISK : rc ? OS_FOUND : OS_MISSING;
}

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	EFI_LOADED_IMAGE *li = NULL;
	EFI_STATUS st;
	UINT16 current = 0;
	UINTN size = sizeof(current);
	EFI_GUID g;
	CHAR16 dir[260];

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
	if (li && os_path(li->LoadOptions, li->LoadOptionsSize, &g, dir, 260)) {
		enum os_result r = find_os(&g, dir);
		if (r == OS_FOUND) {
			Print(L"GPTMIRROR-OS FOUND %g %s\n", &g, dir);
		} else if (r == OS_NO_DISK) {
			Print(L"GPTMIRROR-OS NO-DISK %g\n", &g);
			Print(L"GPTMIRROR-MSG Windows could not start because of a computer disk "
			      L"hardware configuration problem.\n");
			Print(L"GPTMIRROR-MSG Could not read from the selected boot disk.  Check "
			      L"boot path and disk hardware.\n");
		} else {
			Print(L"GPTMIRROR-OS MISSING %g\n", &g);
			Print(L"GPTMIRROR-MSG Windows could not start because the following file "
			      L"is missing or corrupt:\n");
			Print(L"GPTMIRROR-MSG <Windows root>\\system32\\ntoskrnl.exe.\n");
			Print(L"GPTMIRROR-MSG Please re-install a copy of the above file.\n");
		}
		if (r != OS_FOUND) {
			Print(L"GPTMIRROR-RETURN\n");
			return EFI_NOT_FOUND;
		}
	} else {
		Print(L"GPTMIRROR-OS none\n");
	}
	Print(L"GPTMIRROR-POWEROFF\n");
	uefi_call_wrapper(RT->ResetSystem, 4, EfiResetShutdown, EFI_SUCCESS, 0, NULL);
	return EFI_SUCCESS;
}
